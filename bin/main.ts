// The process entry of the compiled build (`node dist/bin/main.js …`): what `npm start` and the router image run.
import { main } from './cli.ts';

await main(process.argv);
