// Why a job of the schedule is late, in words and times a person reads: the planner gives
// its figures in plan units (epoch_s + t × time_unit_s), phrased here in the browser's
// local time and minutes. A plan saved without the figures shows its own detail.

import {dateTime} from "./dom.js";

function minutes(units, schedule) {
  const m = Math.round(units * schedule.time_unit_s / 60);
  return m < 120 ? m + " min" : (m / 60).toFixed(1) + " h";
}

function at(units, schedule) {
  return dateTime((schedule.epoch_s + units * schedule.time_unit_s) * 1000);
}

/** "too short window: it can start 14:05 at the earliest and needs 35 min of machine time". */
export function lateWhy(job, schedule) {
  const reason = job.reason.replaceAll("_", " ");
  let why = job.detail;
  if (job.reason === "too_short_window" && job.earliest_start !== null && job.earliest_start !== undefined) {
    why = "it can start " + at(job.earliest_start, schedule) + " at the earliest and needs "
      + minutes(job.processing, schedule) + " of machine time";
  } else if (job.reason === "machine_unavailable" && job.unavailable_until !== null && job.unavailable_until !== undefined) {
    why = job.machine_id + " unavailable " + at(job.unavailable_from, schedule) + " to "
      + at(job.unavailable_until, schedule) + ", delaying " + job.operation_id;
  } else if (job.reason === "reserved_capacity" && job.waited !== null && job.waited !== undefined) {
    why = job.operation_id + " waited " + minutes(job.waited, schedule) + ": capacity on "
      + job.machine_id + " held for rush orders";
  } else if (job.reason === "machine_capacity" && job.waited !== null && job.waited !== undefined) {
    why = job.operation_id + " waited " + minutes(job.waited, schedule) + " for "
      + job.machine_id + ", busy with other jobs";
  }
  return why ? reason + ": " + why : reason;
}
