"""Closed-loop scenarios: the flexfleet coordinator against the old way on the same world.

- `flexfleet.scenario.schema`: scenario files (TOML), validated with field and line;
- `flexfleet.scenario.demand`: the catalog and the storefront's orders (seeded);
- `flexfleet.scenario.world`: the discrete-event world (machines, stock, transfers,
  delivery waves) and the `Policy` port;
- `flexfleet.scenario.baseline`: the old way, rule by rule;
- `flexfleet.scenario.flexfleet_policy`: the production coordinator objects in the loop;
- `flexfleet.scenario.drills`, `kpis`, `report`, `plot`, `run`: disruptions, measures,
  the table, the picture and one run end to end.
"""

from flexfleet.scenario.drills import NAMES as DRILLS
from flexfleet.scenario.drills import Drill, DrillError, parse_drill
from flexfleet.scenario.kpis import KEYS
from flexfleet.scenario.run import POLICIES, run_scenario
from flexfleet.scenario.schema import Scenario, ScenarioError, load_scenario, parse_scenario

__all__ = [
    "DRILLS",
    "KEYS",
    "POLICIES",
    "Drill",
    "DrillError",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_drill",
    "parse_scenario",
    "run_scenario",
]
