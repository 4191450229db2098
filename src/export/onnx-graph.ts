// A small builder for ONNX graphs, encoded with the onnx-proto package (ONNX's own .proto compiled by protobufjs)
// rather than by hand. Initializers are kept as raw bytes until encoding, so the caller decides whether they go
// inside model.onnx or into external data files (needed past protobuf's 2 GB limit).
import onnxProto, { type onnx } from 'onnx-proto';

// A CommonJS module: Node's ESM loader sees only its default export, so values come from there, types by name.
const O = onnxProto.onnx;

const { DataType } = O.TensorProto;
export type ElemType = 'float' | 'float16' | 'int64' | 'bool';
const ELEM: Record<ElemType, number> = { float: DataType.FLOAT, float16: DataType.FLOAT16, int64: DataType.INT64, bool: DataType.BOOL };

/** A dimension: a fixed size, or a symbolic name (batch_size, sequence_length...) that the runtime fills in. */
export type Dim = number | string;

interface Initializer {
  name: string;
  type: ElemType;
  dims: number[];
  bytes: Uint8Array;
}

/** Integer attributes only: the graph takes every float (epsilon, scale) as an initializer instead. */
type Attr = number | number[] | string;

/** Where each initializer's bytes went when they are stored outside model.onnx. */
export interface ExternalPlacement {
  file: string;
  offset: number;
}

export class OnnxGraph {
  private readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: Initializer[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private next = 0;

  /** A fresh value name, readable in a graph viewer. */
  fresh(hint: string): string {
    return `${hint}_${this.next++}`;
  }

  input(name: string, type: ElemType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(name: string, type: ElemType, shape: Dim[]): void {
    this.outputs.push(valueInfo(name, type, shape));
  }

  initializer(name: string, type: ElemType, dims: number[], bytes: Uint8Array): string {
    this.initializers.push({ name, type, dims, bytes });
    return name;
  }

  f32(hint: string, values: ArrayLike<number>, dims: number[] = [values.length]): string {
    const a = Float32Array.from(values);
    return this.initializer(this.fresh(hint), 'float', dims, new Uint8Array(a.buffer));
  }

  i64(hint: string, values: number[], dims: number[] = [values.length]): string {
    const a = BigInt64Array.from(values.map((v) => BigInt(v)));
    return this.initializer(this.fresh(hint), 'int64', dims, new Uint8Array(a.buffer));
  }

  /** Adds one node; returns its output names (one fresh name per output unless given). */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs: string[] | number = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(op)) : outputs;
    this.nodes.push({ opType: op, name: this.fresh(`${op}_node`), input: inputs, output: outs, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return outs;
  }

  /** One-output node. */
  op(op: string, inputs: string[], attrs: Record<string, Attr> = {}, output?: string): string {
    return this.node(op, inputs, attrs, output ? [output] : 1)[0];
  }

  /** Total bytes of every initializer. */
  get weightBytes(): number {
    return this.initializers.reduce((s, i) => s + i.bytes.length, 0);
  }

  /**
   * The encoded ModelProto. With `external`, each listed initializer is written as a reference to its file and
   * offset instead of its bytes.
   */
  encode(external?: Map<string, ExternalPlacement>): Uint8Array {
    const initializer = this.initializers.map((t): onnx.ITensorProto => {
      const place = external?.get(t.name);
      const base = { name: t.name, dataType: ELEM[t.type], dims: t.dims };
      if (!place) return { ...base, rawData: t.bytes };
      return {
        ...base,
        dataLocation: O.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: place.file },
          { key: 'offset', value: String(place.offset) },
          { key: 'length', value: String(t.bytes.length) },
        ],
      };
    });
    const model: onnx.IModelProto = {
      // IR 8 and opset 17: read by every onnxruntime release since 1.13, web and node alike.
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      producerName: 'genpi',
      graph: { name: 'decoder', node: this.nodes, initializer, input: this.inputs, output: this.outputs },
    };
    return O.ModelProto.encode(O.ModelProto.create(model)).finish();
  }
}

function valueInfo(name: string, type: ElemType, shape: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: ELEM[type], shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

function attribute(name: string, v: Attr): onnx.IAttributeProto {
  const T = O.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  return { name, type: T.INT, i: v };
}
