// Attention as exported from PyTorch (split into heads, Q·Kᵀ, scale, softmax, ·V, merged back) becomes one
// com.microsoft MultiHeadAttention node, whose CPU kernel is a flash attention: it never holds the
// heads × queries × keys score tensor, which for a U-Net at 512×512 is 1 GB per attention call at batch 2.
// Only the exact pattern is replaced; anything else in the graph is left as it is.
import {
  DTYPE,
  type NewNode,
  type OnnxGraph,
  type OnnxNode,
  readGraph,
  tensorDataType,
  tensorValues,
  writeGraph,
} from './onnx-model.ts';

export interface FusedModel {
  bytes: Uint8Array;
  /** Attention blocks replaced. */
  fused: number;
  nodesBefore: number;
  nodesAfter: number;
}

export interface FusionOptions {
  /** The provider has a float16 MultiHeadAttention kernel (CUDA); onnxruntime's CPU has float32 only. */
  float16: boolean;
}

const MS_DOMAIN = 'com.microsoft';

/** The model with its attention blocks fused, or undefined when none matched (or the graph has subgraphs). */
export function fuseAttention(bytes: Uint8Array, options: FusionOptions): FusedModel | undefined {
  const graph = readGraph(bytes);
  if (graph.nodes.some((n) => [...n.attributes.values()].some((a) => a.subgraph))) return undefined;
  const view = new GraphView(graph);
  const replaced = new Map<OnnxNode, NewNode>();
  for (const softmax of graph.nodes.filter((n) => n.opType === 'Softmax' && n.domain === '')) {
    const match = view.matchAttention(
      softmax,
      `${softmax.name || 'attention'}/MultiHeadAttention_${replaced.size}`,
      options,
    );
    if (match) replaced.set(match.replaces, match.node);
  }
  if (replaced.size === 0) return undefined;
  const nodes = prune(
    graph.nodes.map((n) => replaced.get(n) ?? n),
    graph.outputs,
  );
  return {
    bytes: writeGraph(graph, nodes, { [MS_DOMAIN]: 1 }),
    fused: replaced.size,
    nodesBefore: graph.nodes.length,
    nodesAfter: nodes.length,
  };
}

/** The nodes that contribute to the graph's outputs, in their order. */
function prune<T extends { inputs: string[]; outputs: string[] }>(nodes: T[], outputs: readonly string[]): T[] {
  const producer = new Map<string, T>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const live = new Set<T>();
  const wanted = [...outputs];
  while (wanted.length) {
    const node = producer.get(wanted.pop()!);
    if (!node || live.has(node)) continue;
    live.add(node);
    wanted.push(...node.inputs.filter(Boolean));
  }
  return nodes.filter((n) => live.has(n));
}

interface HeadSplit {
  /** The [batch, sequence, heads × head size] tensor the heads were split from. */
  source: string;
  heads: number;
  /** 3: heads folded into the batch ([batch × heads, sequence, size]); 4: [batch, heads, sequence, size]. */
  rank: 3 | 4;
  scale: number;
}

class GraphView {
  private readonly producer = new Map<string, OnnxNode>();
  private readonly consumers = new Map<string, OnnxNode[]>();

  constructor(private readonly graph: OnnxGraph) {
    for (const n of graph.nodes) {
      for (const o of n.outputs) this.producer.set(o, n);
      for (const i of n.inputs) this.consumers.set(i, [...(this.consumers.get(i) ?? []), n]);
    }
  }

  matchAttention(
    softmax: OnnxNode,
    name: string,
    options: FusionOptions,
  ): { replaces: OnnxNode; node: NewNode } | undefined {
    const scores = this.scores(softmax.inputs[0]);
    if (!scores) return undefined;
    const q = this.headSplit(scores.matmul.inputs[0]);
    const k = this.transposedKey(scores.matmul.inputs[1]);
    if (!q || !k || k.rank !== q.rank || k.heads !== q.heads) return undefined;
    const axis = softmax.attributes.get('axis')?.i;
    if (axis !== -1n && axis !== BigInt(q.rank - 1)) return undefined;

    let p = softmax.outputs[0];
    let probs = this.only(p);
    if (probs && this.isFloatCast(probs)) [p, probs] = [probs.outputs[0], this.only(probs.outputs[0])];
    if (probs?.opType !== 'MatMul' || probs.inputs[0] !== p) return undefined;
    const v = this.headSplit(probs.inputs[1]);
    if (!v || v.rank !== q.rank || v.heads !== q.heads || v.scale !== 1) return undefined;

    const merged = this.headMerge(probs.outputs[0], q.rank);
    if (!merged || !this.isFloat(q.source, options)) return undefined;
    return {
      replaces: merged,
      node: {
        name,
        opType: 'MultiHeadAttention',
        domain: MS_DOMAIN,
        inputs: [q.source, k.source, v.source],
        outputs: [merged.outputs[0]],
        attributes: { num_heads: { i: q.heads }, scale: { f: scores.scale * q.scale * k.scale } },
      },
    };
  }

  /** Softmax's input back to Q·Kᵀ: scalar Mul and Div, an Add of zeros (baddbmm's beta = 0 term), a Cast. */
  private scores(name: string): { matmul: OnnxNode; scale: number } | undefined {
    let scale = 1;
    for (let node = this.producer.get(name); node; ) {
      if (node.opType === 'MatMul') return { matmul: node, scale };
      let next: string | undefined;
      if (node.opType === 'Add') next = this.isZeros(node.inputs[1]) ? node.inputs[0] : undefined;
      else if (node.opType === 'Div') {
        const c = this.scalar(node.inputs[1]);
        if (c) [scale, next] = [scale / c, node.inputs[0]];
      } else if (node.opType === 'Mul') {
        const [c, other] = this.scalarOperand(node);
        if (c !== undefined) [scale, next] = [scale * c, other];
      } else if (this.isFloatCast(node)) next = node.inputs[0];
      if (next === undefined) return undefined;
      node = this.producer.get(next);
    }
    return undefined;
  }

  /** Kᵀ: the last two axes of a head split swapped. */
  private transposedKey(name: string): HeadSplit | undefined {
    const { name: t, scale } = this.peel(name);
    const node = this.producer.get(t);
    if (node?.opType !== 'Transpose') return undefined;
    const perm = node.attributes.get('perm')?.ints?.map(Number).join(',');
    const split = this.headSplit(node.inputs[0]);
    if (!split || perm !== (split.rank === 3 ? '0,2,1' : '0,1,3,2')) return undefined;
    return { ...split, scale: split.scale * scale };
  }

  /** Reshape [b, s, heads, size] -> Transpose (0, 2, 1, 3) [-> Reshape to 3 axes], from a tensor X. */
  private headSplit(name: string): HeadSplit | undefined {
    const top = this.peel(name);
    let node = this.producer.get(top.name);
    let rank: 3 | 4 = 4;
    if (node?.opType === 'Reshape') {
      if (this.shape(node.inputs[1])?.length !== 3) return undefined;
      rank = 3;
      node = this.producer.get(node.inputs[0]);
    }
    if (node?.opType !== 'Transpose' || node.attributes.get('perm')?.ints?.map(Number).join(',') !== '0,2,1,3')
      return undefined;
    const split = this.producer.get(node.inputs[0]);
    if (split?.opType !== 'Reshape') return undefined;
    const heads = this.shape(split.inputs[1]);
    if (heads?.length !== 4 || !heads[2] || heads[2] < 1) return undefined;
    const source = this.peel(split.inputs[0]);
    return { source: source.name, heads: heads[2], rank, scale: top.scale * source.scale };
  }

  /** The attention output back to [b, s, heads × size]: [Reshape to 4 axes ->] Transpose (0, 2, 1, 3) -> Reshape. */
  private headMerge(name: string, rank: 3 | 4): OnnxNode | undefined {
    let node = this.onlyNonShape(name);
    if (rank === 3) {
      if (node?.opType !== 'Reshape' || this.shape(node.inputs[1])?.length !== 4) return undefined;
      node = this.onlyNonShape(node.outputs[0]);
    }
    if (node?.opType !== 'Transpose' || node.attributes.get('perm')?.ints?.map(Number).join(',') !== '0,2,1,3')
      return undefined;
    const merge = this.onlyNonShape(node.outputs[0]);
    return merge?.opType === 'Reshape' && this.shape(merge.inputs[1])?.length === 3 ? merge : undefined;
  }

  /** Past Casts to float and Muls by a scalar, with the product of those scalars. */
  private peel(name: string): { name: string; scale: number } {
    let scale = 1;
    for (;;) {
      const node = this.producer.get(name);
      if (node && this.isFloatCast(node)) name = node.inputs[0];
      else if (node?.opType === 'Mul') {
        const [c, other] = this.scalarOperand(node);
        if (c === undefined) return { name, scale };
        [scale, name] = [scale * c, other];
      } else return { name, scale };
    }
  }

  /** Whether X is float32 (or float16 where allowed): judged from the weights or the Cast that make it. */
  private isFloat(name: string, options: FusionOptions): boolean {
    const node = this.producer.get(name);
    if (!node) return false;
    if (node.opType === 'Cast') return node.attributes.get('to')?.i === BigInt(DTYPE.float);
    for (const input of node.inputs) {
      const init = this.graph.initializers.get(input);
      const type = init ? tensorDataType(init) : undefined;
      if (type === DTYPE.float) return true;
      if (type === DTYPE.float16) return options.float16;
      if (!init && (node.opType === 'Add' || node.opType === 'MatMul') && this.producer.get(input)?.opType === 'Cast')
        return this.isFloat(input, options);
    }
    return false;
  }

  private isFloatCast(node: OnnxNode): boolean {
    return node.opType === 'Cast' && node.attributes.get('to')?.i === BigInt(DTYPE.float);
  }

  /** A Mul by a constant 0 (diffusers' baddbmm with beta = 0 exports as scores + 0 × empty). */
  private isZeros(name: string): boolean {
    const node = this.producer.get(name);
    return node?.opType === 'Mul' && this.scalarOperand(node)[0] === 0;
  }

  private scalarOperand(node: OnnxNode): [number | undefined, string] {
    const right = this.scalar(node.inputs[1]);
    if (right !== undefined) return [right, node.inputs[0]];
    return [this.scalar(node.inputs[0]), node.inputs[1]];
  }

  private scalar(name: string): number | undefined {
    const values = this.constant(name);
    return values?.length === 1 ? values[0] : undefined;
  }

  /** A small constant's values: an initializer, a Constant node, or either through Unsqueeze/Identity. */
  private constant(name: string): number[] | undefined {
    const init = this.graph.initializers.get(name);
    if (init) return tensorValues(init);
    const node = this.producer.get(name);
    if (node?.opType === 'Constant') {
      const value = node.attributes.get('value')?.t;
      return value ? tensorValues(value) : undefined;
    }
    if (node?.opType === 'Unsqueeze' || node?.opType === 'Identity') return this.constant(node.inputs[0]);
    return undefined;
  }

  /** A Reshape's target: its entries where constant (NaN where computed), as a constant or a Concat. */
  private shape(name: string): number[] | undefined {
    const values = this.constant(name);
    if (values) return values;
    const node = this.producer.get(name);
    if (node?.opType !== 'Concat') return undefined;
    return node.inputs.map((i) => {
      const v = this.constant(i);
      return v?.length === 1 ? v[0] : Number.NaN;
    });
  }

  private only(name: string): OnnxNode | undefined {
    const users = this.consumers.get(name) ?? [];
    return users.length === 1 ? users[0] : undefined;
  }

  private onlyNonShape(name: string): OnnxNode | undefined {
    const users = (this.consumers.get(name) ?? []).filter((n) => n.opType !== 'Shape');
    return users.length === 1 ? users[0] : undefined;
  }
}
