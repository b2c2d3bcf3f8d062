// A separate process materializing a dataset (the cross-process lock test): argv = storeRoot datasetsRoot name casDir.
import { FsStore, materializeDataset } from '../src/index.ts';

const [root, datasets, name, cas] = process.argv.slice(2) as [string, string, string, string];
const r = await materializeDataset(new FsStore(root), datasets, name, cas);
process.stdout.write(JSON.stringify(r));
