// The console's views, in navigation order. A new resource of the API gets a view by
// adding its module here: {name, title, render(main, ctx) -> {refresh(), dispose()}}.

import {alarmsView} from "./alarms.js";
import {fleetView} from "./fleet.js";
import {ordersView} from "./orders.js";
import {overviewView} from "./overview.js";
import {productionView} from "./production.js";
import {routesView} from "./routes.js";
import {stockView} from "./stock.js";
import {streamsView} from "./streams.js";

export const VIEWS = [overviewView, alarmsView, fleetView, productionView, ordersView, routesView, stockView, streamsView];
