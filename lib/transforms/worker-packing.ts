// Documents packed for the hashing worker: their values back to back in one flat array, the keys of each shape sent once.

import { sameKeys } from '../content-hash.js';

/**
 * A batch as it crosses to the worker. Cloning one flat array of values costs about 2.9 µs per message document where
 * cloning the documents costs 3.8 (the structured clone writes every key of every object): the main thread's work.
 */
export interface PackedBatch {
  values: unknown[];
  /** Per document, the index of its shape; -1 for a document sent whole (as one value). */
  shapes: Int32Array;
  /** Shapes first used in this batch. */
  newShapes: Array<{ index: number; keys: string[] }>;
}

interface PackShape {
  index: number;
  keys: string[];
  pack: (document: object, values: unknown[]) => void;
}

/** Bounds on what is remembered: documents of other shapes (an unbounded variety) are sent whole. */
const maxShapes = 256;
const maxShapesPerType = 8;
const maxKeys = 256;

/** Generated code holds only JSON-quoted key names, which are valid JavaScript string literals. */
const quotedKeys = (keys: string[]): string[] => keys.map((key) => JSON.stringify(key));

/** Packs documents on the main thread, remembering the shapes the worker already knows. */
export class DocumentPacker {
  private readonly shapesByType = new Map<unknown, PackShape[]>();
  private shapeCount = 0;

  pack(documents: object[]): PackedBatch {
    const values: unknown[] = [];
    const shapes = new Int32Array(documents.length);
    const newShapes: PackedBatch['newShapes'] = [];
    try {
      for (let position = 0; position < documents.length; position++) {
        const document = documents[position]!;
        const shape = this.shapeOf(document, newShapes);
        if (shape === null) {
          shapes[position] = -1;
          values.push(document);
        } else {
          shapes[position] = shape.index;
          shape.pack(document, values);
        }
      }
    } catch (error) {
      // A getter that threw: this batch fails, and the shapes it introduced never reach the worker.
      this.discard({ newShapes });
      throw error;
    }
    return { values, shapes, newShapes };
  }

  /** Forgets the shapes a batch introduced when it never reached the worker (its clone failed). */
  discard(batch: Pick<PackedBatch, 'newShapes'>): void {
    const discarded = new Set(batch.newShapes.map((shape) => shape.index));
    for (const [type, shapes] of this.shapesByType)
      this.shapesByType.set(
        type,
        shapes.filter((shape) => !discarded.has(shape.index)),
      );
  }

  private shapeOf(document: object, newShapes: PackedBatch['newShapes']): PackShape | null {
    // Only plain objects rebuild as an object literal; an array, a Date or a class instance is sent whole, as it clones.
    const prototype = Object.getPrototypeOf(document) as unknown;
    if (prototype !== Object.prototype && prototype !== null) return null;
    const keys = Object.keys(document);
    const type = (document as { type?: unknown }).type;
    let shapes = this.shapesByType.get(type);
    if (shapes) {
      for (const shape of shapes) if (sameKeys(shape.keys, keys)) return shape;
    }
    // An object literal cannot rebuild a `__proto__` field (it would set the prototype).
    if (this.shapeCount >= maxShapes || keys.length > maxKeys || keys.includes('__proto__')) return null;
    if (!shapes) this.shapesByType.set(type, (shapes = []));
    if (shapes.length >= maxShapesPerType) return null;
    const reads = quotedKeys(keys).map((key) => `document[${key}]`);
    const pack = new Function('document', 'values', `values.push(${reads.join(', ')});`) as PackShape['pack'];
    const shape: PackShape = { index: this.shapeCount++, keys, pack };
    shapes.push(shape);
    newShapes.push({ index: shape.index, keys });
    return shape;
  }
}

type Build = (values: unknown[], at: number) => Record<string, unknown>;

/** Rebuilds packed documents on the worker: the same own keys in the same order, so the same JSON. */
export class DocumentUnpacker {
  private readonly shapes: Array<{ build: Build; width: number }> = [];

  unpack({ values, shapes, newShapes }: PackedBatch): object[] {
    for (const { index, keys } of newShapes) {
      const fields = quotedKeys(keys).map((key, position) => `${key}: values[at + ${position}]`);
      this.shapes[index] = { build: new Function('values', 'at', `return { ${fields.join(', ')} };`) as Build, width: keys.length };
    }
    const documents = new Array<object>(shapes.length);
    let at = 0;
    for (let position = 0; position < shapes.length; position++) {
      const index = shapes[position]!;
      if (index === -1) {
        documents[position] = values[at++] as object;
      } else {
        const shape = this.shapes[index]!;
        documents[position] = shape.build(values, at);
        at += shape.width;
      }
    }
    return documents;
  }
}
