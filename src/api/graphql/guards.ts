// Bounds on what one GraphQL operation may ask, checked before anything runs (as validation
// rules, so a refused document is refused again from the cache without being walked): how deep
// its fields nest, and what it costs. Each is refused with its own LH_ERR_ code, naming the limit.
//
// The cost counts what the server would do: 1 per field (aliases count again), READ_COST per
// root field that reads the store or the pipeline, and 1 per row a search or top may return
// (their `limit`) or a tail may backfill. A row argument given as a variable counts as its
// largest allowed value, since the document alone must settle the question.

import { GraphQLError, Kind, type ASTVisitor, type SelectionSetNode, type ValidationContext, type ValidationRule } from 'graphql';

/** What one root field that reads the store or the pipeline costs, besides its rows. */
export const READ_COST = 1000;

/** The standard introspection query (GraphiQL, code generators) nests 15 fields deep. */
export const MAX_DEPTH = 15;

/** A root field's argument that says how many rows it may return. */
export interface RowArgument {
  arg: string;
  /** Rows when the argument is left out. */
  fallback: number;
  /** Largest allowed value (what a variable counts as). */
  max: number;
}

export interface CostModel {
  /** Root fields that read, by name, with their row argument (null: a fixed-size answer). */
  reads: Record<string, RowArgument | null>;
  maxCost: number;
}

/** Refuses operations whose fields nest deeper than `maxDepth` (fragments counted inline). */
export function depthLimitRule(maxDepth: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(op) {
      const depth = nestingDepth(op.selectionSet, context, new Map(), new Set());
      if (depth > maxDepth) {
        context.reportError(
          new GraphQLError(`the operation nests fields ${depth} deep, more than the limit of ${maxDepth}`, {
            nodes: op,
            extensions: { code: 'LH_ERR_GRAPHQL_DEPTH', depth, limit: maxDepth },
          }),
        );
      }
      return false;
    },
  });
}

/** Refuses operations that cost more than `model.maxCost` (see the module comment). */
export function costLimitRule(model: CostModel): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(op) {
      const cost = selectionCost(op.selectionSet, true, context, model, new Map(), new Set());
      if (cost > model.maxCost) {
        context.reportError(
          new GraphQLError(
            `the operation costs ${cost}, more than the limit of ${model.maxCost} (1 per field, ${READ_COST} per ${Object.keys(model.reads).join(', ')}, ` +
              `and 1 per row a limit or backfill may return; a variable counts as the largest value allowed)`,
            { nodes: op, extensions: { code: 'LH_ERR_GRAPHQL_COST', cost, limit: model.maxCost } },
          ),
        );
      }
      return false;
    },
  });
}

function nestingDepth(set: SelectionSetNode | undefined, context: ValidationContext, memo: Map<string, number>, visiting: Set<string>): number {
  if (set === undefined) return 0;
  let deepest = 0;
  for (const sel of set.selections) {
    let depth: number;
    if (sel.kind === Kind.FIELD) depth = 1 + nestingDepth(sel.selectionSet, context, memo, visiting);
    else if (sel.kind === Kind.INLINE_FRAGMENT) depth = nestingDepth(sel.selectionSet, context, memo, visiting);
    else depth = viaFragment(sel.name.value, context, memo, visiting, (f) => nestingDepth(f, context, memo, visiting));
    if (depth > deepest) deepest = depth;
  }
  return deepest;
}

function selectionCost(
  set: SelectionSetNode | undefined,
  root: boolean,
  context: ValidationContext,
  model: CostModel,
  memo: Map<string, number>,
  visiting: Set<string>,
): number {
  if (set === undefined) return 0;
  let cost = 0;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      cost += 1 + selectionCost(sel.selectionSet, false, context, model, memo, visiting);
      const read = root ? model.reads[sel.name.value] : undefined;
      if (read === undefined) continue;
      cost += READ_COST;
      if (read === null) continue;
      const arg = sel.arguments?.find((a) => a.name.value === read.arg)?.value;
      if (arg === undefined || arg.kind === Kind.NULL) cost += read.fallback;
      else if (arg.kind === Kind.INT) cost += Math.max(0, Math.min(Number(arg.value), read.max)); // the service refuses more, naming its limit
      else cost += read.max;
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      cost += selectionCost(sel.selectionSet, root, context, model, memo, visiting);
    } else {
      const key = `${root ? 'root:' : ''}${sel.name.value}`;
      cost += viaFragment(key, context, memo, visiting, (f) => selectionCost(f, root, context, model, memo, visiting), sel.name.value);
    }
  }
  return cost;
}

/** A fragment's figure, computed once per document; a cycle (refused by the standard rules) counts 0. */
function viaFragment(
  key: string,
  context: ValidationContext,
  memo: Map<string, number>,
  visiting: Set<string>,
  measure: (set: SelectionSetNode) => number,
  name = key,
): number {
  const known = memo.get(key);
  if (known !== undefined) return known;
  const fragment = context.getFragment(name);
  if (fragment == null || visiting.has(key)) return 0;
  visiting.add(key);
  const value = measure(fragment.selectionSet);
  visiting.delete(key);
  memo.set(key, value);
  return value;
}
