// hot-shots' module shape for `require('statsd-native/hot-shots')`: the module
// is the StatsD class, with `.StatsD` and `.default` on it (hot-shots 17's index.js).
import { StatsD } from './statsd/client';

type HotShotsModule = typeof StatsD & { readonly StatsD: typeof StatsD; readonly default: typeof StatsD };

const Client = Object.defineProperties(StatsD, {
  StatsD: { value: StatsD },
  default: { value: StatsD },
}) as HotShotsModule;
export = Client;
