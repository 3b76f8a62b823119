// Every environment variable the bot reads, with its default and meaning, in one table: config.ts parses
// them, and the README table and deploy/.env.example are checked against it.
import { LOG_LEVELS } from './config.ts';

/** Every variable with its default and meaning: the README and deploy/.env.example mirror this. */
export const VARIABLES: ReadonlyArray<{ name: string; default: string; meaning: string }> = [
  {
    name: 'DISCORD_TOKEN',
    default: '(required)',
    meaning: 'Bot token from the Discord developer portal. Never logged.',
  },
  {
    name: 'DISCORD_API_URL',
    default: 'https://discord.com/api',
    meaning: 'REST base URL; point it at any Discord-compatible server.',
  },
  {
    name: 'DISCORD_CDN_URL',
    default: "(unset: Discord's CDN only)",
    meaning: "Another origin accepted as Discord's CDN for /imagine images (a Discord-compatible server).",
  },
  { name: 'DATA_DIR', default: './data', meaning: 'Job database (SQLite), images and settings. Must be writable.' },
  { name: 'MODEL_DIR', default: 'models/emoji-tiny', meaning: 'Model folder in the diffusers ONNX layout.' },
  {
    name: 'MODELS_DIR',
    default: '(unset: MODEL_DIR alone)',
    meaning: "A folder of model folders offered besides MODEL_DIR's (the default); /imagine model: picks one.",
  },
  {
    name: 'MODEL_MEMORY_MB',
    default: '(half the memory)',
    meaning: 'With MODELS_DIR: most megabytes of weights kept loaded; the least recently used model is closed first.',
  },
  {
    name: 'REDIS_URL',
    default: '(unset: SQLite)',
    meaning: 'redis:// or rediss:// URL; keeps jobs and settings in Redis instead of SQLite.',
  },
  {
    name: 'EXECUTION_PROVIDER',
    default: 'cpu',
    meaning: 'cpu or cuda (needs the CUDA 12 build of onnxruntime-node and cuDNN 9).',
  },
  { name: 'ORT_INTRA_OP_THREADS', default: '(onnxruntime decides)', meaning: 'Threads inside one ONNX operator.' },
  {
    name: 'ORT_INTER_OP_THREADS',
    default: '(onnxruntime decides)',
    meaning: 'Threads across independent ONNX operators.',
  },
  { name: 'LOG_LEVEL', default: 'info', meaning: `One of ${LOG_LEVELS.join(', ')}.` },
  {
    name: 'METRICS_PORT',
    default: '(unset: off)',
    meaning: 'Port for /healthz and Prometheus /metrics; 0 picks a free port.',
  },
  {
    name: 'METRICS_HOST',
    default: '127.0.0.1',
    meaning: 'Address the metrics server listens on (0.0.0.0 in containers).',
  },
  { name: 'JOB_TIMEOUT_SECONDS', default: '300', meaning: 'A job running longer is cancelled and reported as failed.' },
  {
    name: 'JOB_RETENTION_DAYS',
    default: '7',
    meaning: 'Finished jobs and their images are deleted after this many days.',
  },
  {
    name: 'MAX_QUEUED_JOBS',
    default: '100',
    meaning: 'Global cap on queued jobs; beyond it users are told the queue is full.',
  },
  {
    name: 'SHUTDOWN_GRACE_SECONDS',
    default: '8',
    meaning: 'On SIGTERM, how long the running job may finish before it is re-queued.',
  },
  {
    name: 'REGISTER_COMMANDS',
    default: 'global',
    meaning: 'At start: register slash commands globally, for one guild (its id), or off.',
  },
  {
    name: 'ROLE',
    default: 'all',
    meaning: 'all (bot + worker in one process), bot (Discord only), or worker (one GPU worker, no token needed).',
  },
  {
    name: 'QUEUE_BACKEND',
    default: 'local (bullmq for ROLE=bot/worker)',
    meaning: 'local (in-process worker) or bullmq (BullMQ on REDIS_URL, for worker processes on any machine).',
  },
  { name: 'WORKER_NAME', default: '(host-pid)', meaning: 'Name of this GPU worker in logs and BullMQ.' },
  {
    name: 'WORKER_LOCK_SECONDS',
    default: '30',
    meaning: 'bullmq: a worker silent this long counts as dead and its job moves to another worker.',
  },
];
