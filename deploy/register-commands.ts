// `npm run register-commands [-- --guild ID]`: a thin wrapper over src/app/register-commands.ts.
import 'dotenv/config';
import { runRegisterCommands } from '../src/app/register-commands.ts';

await runRegisterCommands(process.argv.slice(2));
