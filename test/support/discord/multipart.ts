// Request bodies as discord.js sends them: JSON, or multipart/form-data with `payload_json` and
// `files[n]` parts. Node 20's fetch implementation parses multipart for us (Request.formData()).

export interface UploadedFile {
  /** The n of the `files[n]` form field; attachments refer to it as their id. */
  index: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface ParsedBody {
  json: unknown;
  files: UploadedFile[];
}

export class BodyParseError extends Error {
  override name = 'BodyParseError';
}

export async function parseBody(contentType: string | undefined, raw: Buffer): Promise<ParsedBody> {
  if (raw.length === 0) return { json: undefined, files: [] };
  const type = (contentType ?? '').toLowerCase();
  if (type.startsWith('multipart/form-data')) return parseMultipart(contentType!, raw);
  if (type.startsWith('application/json')) {
    try {
      return { json: JSON.parse(raw.toString('utf8')), files: [] };
    } catch (error) {
      throw new BodyParseError(`expected a JSON body, got unparsable text (${(error as Error).message})`);
    }
  }
  throw new BodyParseError(`expected application/json or multipart/form-data, got ${contentType ?? 'no content-type'}`);
}

async function parseMultipart(contentType: string, raw: Buffer): Promise<ParsedBody> {
  const form = await new Request('http://local/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: new Blob([new Uint8Array(raw)]),
  })
    .formData()
    .catch((error: Error) => {
      throw new BodyParseError(`expected a well-formed multipart body: ${error.message}`);
    });
  let json: unknown;
  const files: UploadedFile[] = [];
  for (const [name, value] of form) {
    if (name === 'payload_json') {
      if (typeof value !== 'string') throw new BodyParseError('expected payload_json to be a text field, got a file');
      json = JSON.parse(value);
      continue;
    }
    const match = /^files\[(\d+)\]$/.exec(name) ?? /^file(\d*)$/.exec(name);
    if (!match || typeof value === 'string') {
      throw new BodyParseError(`expected form fields payload_json and files[n], got field "${name}"`);
    }
    files.push({
      index: match[1] === '' ? '0' : match[1],
      filename: value.name,
      contentType: value.type || 'application/octet-stream',
      data: Buffer.from(await value.arrayBuffer()),
    });
  }
  return { json, files };
}
