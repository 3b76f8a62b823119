// An ONNX model's graph read for editing (field numbers from onnx.proto): its nodes, initializer names and
// small constants; written back with new nodes, everything else as stored.
import {
  concat,
  type Field,
  FIXED32,
  fieldString,
  float32Field,
  int64s,
  LEN,
  lenField,
  readFields,
  stringField,
  VARINT,
  varintField,
} from './wire.ts';

const MODEL = { graph: 7, opsetImport: 8 };
const GRAPH = { node: 1, initializer: 5, output: 12 };
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 };
const ATTR = { name: 1, f: 2, i: 3, t: 5, g: 6, ints: 8, graphs: 11, type: 20 };
const TENSOR = { dims: 1, dataType: 2, floatData: 4, int32Data: 5, int64Data: 7, name: 8, rawData: 9, location: 14 };
const OPSET = { domain: 1, version: 2 };
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
/** TensorProto.DataType values this code reads. */
export const DTYPE = { float: 1, int32: 6, int64: 7, float16: 10, double: 11 } as const;

export interface Attribute {
  f?: number;
  i?: bigint;
  ints?: bigint[];
  /** A tensor attribute (a Constant's value), as TensorProto fields. */
  t?: Field[];
  /** The node holds a subgraph (If, Loop, Scan). */
  subgraph?: boolean;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, Attribute>;
  /** The NodeProto as stored; undefined for a node made here. */
  raw?: Uint8Array;
}

export interface OnnxGraph {
  modelFields: Field[];
  graphFields: Field[];
  nodes: OnnxNode[];
  /** Initializers by name, as TensorProto fields. */
  initializers: Map<string, Field[]>;
  outputs: string[];
  opsetDomains: string[];
}

function readNode(raw: Uint8Array): OnnxNode {
  const node: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: new Map(), raw };
  for (const f of readFields(raw)) {
    if (f.no === NODE.input) node.inputs.push(fieldString(f));
    else if (f.no === NODE.output) node.outputs.push(fieldString(f));
    else if (f.no === NODE.name) node.name = fieldString(f);
    else if (f.no === NODE.opType) node.opType = fieldString(f);
    else if (f.no === NODE.domain) node.domain = fieldString(f);
    else if (f.no === NODE.attribute) {
      const fields = readFields(f.bytes);
      const attr: Attribute = {};
      let name = '';
      for (const a of fields) {
        if (a.no === ATTR.name) name = fieldString(a);
        else if (a.no === ATTR.f && a.wire === FIXED32)
          attr.f = new DataView(a.bytes.buffer, a.bytes.byteOffset, 4).getFloat32(0, true);
        else if (a.no === ATTR.i && a.wire === VARINT) attr.i = BigInt.asIntN(64, a.int);
        else if (a.no === ATTR.t && a.wire === LEN) attr.t = readFields(a.bytes);
        else if (a.no === ATTR.g || a.no === ATTR.graphs) attr.subgraph = true;
      }
      const ints = int64s(fields, ATTR.ints);
      if (ints.length) attr.ints = ints;
      node.attributes.set(name, attr);
    }
  }
  return node;
}

/** Throws a RangeError when the bytes are not a model. */
export function readGraph(bytes: Uint8Array): OnnxGraph {
  const modelFields = readFields(bytes);
  const graph = modelFields.find((f) => f.no === MODEL.graph && f.wire === LEN);
  if (!graph) throw new RangeError('expected an ONNX model with a graph');
  const graphFields = readFields(graph.bytes);
  const initializers = new Map<string, Field[]>();
  const nodes: OnnxNode[] = [];
  const outputs: string[] = [];
  for (const f of graphFields) {
    if (f.no === GRAPH.node) nodes.push(readNode(f.bytes));
    else if (f.no === GRAPH.output) {
      const name = readFields(f.bytes).find((v) => v.no === 1);
      if (name) outputs.push(fieldString(name));
    } else if (f.no === GRAPH.initializer) {
      const tensor = readFields(f.bytes);
      const name = tensor.find((t) => t.no === TENSOR.name);
      initializers.set(name ? fieldString(name) : '', tensor);
    }
  }
  const opsetDomains = modelFields
    .filter((f) => f.no === MODEL.opsetImport)
    .map((f) => {
      const domain = readFields(f.bytes).find((o) => o.no === OPSET.domain);
      return domain ? fieldString(domain) : '';
    });
  return { modelFields, graphFields, nodes, initializers, outputs, opsetDomains };
}

export function tensorDataType(tensor: readonly Field[]): number {
  return Number(tensor.find((f) => f.no === TENSOR.dataType)?.int ?? 0);
}

/** The values of a small tensor stored in the model (not external), else undefined. */
export function tensorValues(tensor: readonly Field[], limit = 64): number[] | undefined {
  if (tensor.some((f) => f.no === TENSOR.location && f.int === 1n)) return undefined;
  const type = tensorDataType(tensor);
  const raw = tensor.find((f) => f.no === TENSOR.rawData)?.bytes;
  if (raw) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width =
      type === DTYPE.float || type === DTYPE.int32 ? 4 : type === DTYPE.int64 || type === DTYPE.double ? 8 : 0;
    if (!width || raw.byteLength / width > limit) return undefined;
    return Array.from({ length: raw.byteLength / width }, (_, k) => {
      if (type === DTYPE.float) return view.getFloat32(k * 4, true);
      if (type === DTYPE.int32) return view.getInt32(k * 4, true);
      if (type === DTYPE.double) return view.getFloat64(k * 8, true);
      return Number(view.getBigInt64(k * 8, true));
    });
  }
  if (type === DTYPE.float) {
    const values: number[] = [];
    for (const f of tensor.filter((t) => t.no === TENSOR.floatData)) {
      const view = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
      for (let at = 0; at < f.bytes.byteLength; at += 4) values.push(view.getFloat32(at, true));
    }
    return values.length <= limit ? values : undefined;
  }
  const no = type === DTYPE.int64 ? TENSOR.int64Data : type === DTYPE.int32 ? TENSOR.int32Data : 0;
  if (!no) return undefined;
  const values = int64s(tensor, no).map(Number);
  return values.length <= limit ? values : undefined;
}

/** A node made here: its attributes are ints and floats. */
export interface NewNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, { i: number } | { f: number }>;
}

function encodeNode(node: NewNode): Uint8Array {
  const attributes = Object.entries(node.attributes).map(([name, value]) =>
    lenField(
      NODE.attribute,
      concat([
        stringField(ATTR.name, name),
        'i' in value ? varintField(ATTR.i, value.i) : float32Field(ATTR.f, value.f),
        varintField(ATTR.type, 'i' in value ? ATTR_INT : ATTR_FLOAT),
      ]),
    ),
  );
  return concat([
    ...node.inputs.map((i) => stringField(NODE.input, i)),
    ...node.outputs.map((o) => stringField(NODE.output, o)),
    stringField(NODE.name, node.name),
    stringField(NODE.opType, node.opType),
    ...attributes,
    stringField(NODE.domain, node.domain),
  ]);
}

/**
 * The model with `nodes` (in this order, where the stored nodes stood) for the graph's nodes, and an opset
 * import for each domain in `domains` it lacks; every other field as stored.
 */
export function writeGraph(
  graph: OnnxGraph,
  nodes: readonly (OnnxNode | NewNode)[],
  domains: Record<string, number>,
): Uint8Array {
  const nodeFields = nodes.map((n) => lenField(GRAPH.node, 'raw' in n && n.raw ? n.raw : encodeNode(n as NewNode)));
  const graphParts: Uint8Array[] = [];
  let placed = false;
  for (const f of graph.graphFields) {
    if (f.no !== GRAPH.node) graphParts.push(f.raw);
    else if (!placed) {
      graphParts.push(...nodeFields);
      placed = true;
    }
  }
  if (!placed) graphParts.unshift(...nodeFields);
  const modelParts = graph.modelFields.map((f) =>
    f.no === MODEL.graph && f.wire === LEN ? lenField(MODEL.graph, concat(graphParts)) : f.raw,
  );
  for (const [domain, version] of Object.entries(domains))
    if (!graph.opsetDomains.includes(domain))
      modelParts.push(
        lenField(MODEL.opsetImport, concat([stringField(OPSET.domain, domain), varintField(OPSET.version, version)])),
      );
  return concat(modelParts);
}
