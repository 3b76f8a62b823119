// Protocol Buffers wire format, as far as editing an ONNX graph takes: a message is read as a list of fields
// whose bytes stay views into the original buffer, so what is not edited is written back byte for byte
// (fields this code does not know included) and large weights are never copied.

export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

export interface Field {
  no: number;
  wire: number;
  /** The whole field as stored: tag and value. */
  raw: Uint8Array;
  /** A varint's value; for LEN, FIXED32 and FIXED64 fields see `bytes`. */
  int: bigint;
  /** The payload of a LEN field, or the 4 or 8 bytes of a fixed field. */
  bytes: Uint8Array;
}

const EMPTY: Uint8Array = new Uint8Array(0);

function readVarint(buf: Uint8Array, at: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (let i = at; i < buf.length; i++) {
    const byte = buf[i];
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [value, i + 1];
    shift += 7n;
    if (shift > 63n) break;
  }
  throw new RangeError(`expected a varint at byte ${at}, got a truncated or overlong one`);
}

/** The fields of one message, in stored order. Throws a RangeError on bytes that are not a message. */
export function readFields(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let at = 0;
  while (at < buf.length) {
    const start = at;
    const [tag, afterTag] = readVarint(buf, at);
    const no = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    let int = 0n;
    let bytes = EMPTY;
    at = afterTag;
    if (wire === VARINT) [int, at] = readVarint(buf, at);
    else if (wire === LEN) {
      const [length, afterLength] = readVarint(buf, at);
      at = afterLength + Number(length);
      bytes = buf.subarray(afterLength, at);
    } else if (wire === FIXED32 || wire === FIXED64) {
      at += wire === FIXED32 ? 4 : 8;
      bytes = buf.subarray(at - (wire === FIXED32 ? 4 : 8), at);
    } else throw new RangeError(`expected a wire type 0, 1, 2 or 5 at byte ${start}, got ${wire}`);
    if (no === 0 || at > buf.length) throw new RangeError(`expected a field at byte ${start}, got a truncated one`);
    fields.push({ no, wire, raw: buf.subarray(start, at), int, bytes });
  }
  return fields;
}

const text = new TextDecoder();
const utf8 = new TextEncoder();

export const fieldString = (f: Field): string => text.decode(f.bytes);

/** A repeated int64 field's values, packed or not. */
export function int64s(fields: readonly Field[], no: number): bigint[] {
  const values: bigint[] = [];
  for (const f of fields) {
    if (f.no !== no) continue;
    if (f.wire === VARINT) values.push(BigInt.asIntN(64, f.int));
    else
      for (let at = 0; at < f.bytes.length; ) {
        const [v, next] = readVarint(f.bytes, at);
        values.push(BigInt.asIntN(64, v));
        at = next;
      }
  }
  return values;
}

function varint(value: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

export const varintField = (no: number, value: bigint | number): Uint8Array =>
  Uint8Array.from([...varint((no << 3) | VARINT), ...varint(value)]);

export function lenField(no: number, payload: Uint8Array): Uint8Array {
  const head = [...varint((no << 3) | LEN), ...varint(payload.length)];
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

export const stringField = (no: number, value: string): Uint8Array => lenField(no, utf8.encode(value));

export function float32Field(no: number, value: number): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = (no << 3) | FIXED32;
  new DataView(out.buffer).setFloat32(1, value, true);
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
