// `npm start` (ROLE=all, the default), `npm run start:bot` (ROLE=bot), `npm run start:worker` (ROLE=worker).
// The wiring of the roles lives in src/app/.
import { main } from './app/main.ts';

await main();
