// hot-shots' module shape for `import StatsD, { StatsD } from 'statsd-native/hot-shots'`
// in ES modules (hot-shots 17's index.mjs): the same class as the CommonJS form.
import Client from './statsd-hot-shots.js';

export const StatsD = Client.StatsD;
export default Client;
