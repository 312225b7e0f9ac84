// The OT client: three states (ot.js client.js style), each transition a pure function
// returning the next state and, when the protocol allows one, the op to send.
//
//   Synchronized ──local edit──▶ AwaitingConfirm(pending) ──local edit──▶ AwaitingWithBuffer
//        ▲                          │   ▲                                  (pending, buffer)
//        └──────────ack─────────────┘   └──────ack (buffer becomes pending, sent)─┘
//
// Remote ops. The server transforms an op against each op committed since its base with
// the *committed* op winning ties (PROTOCOL.md §2, guarantee 2). An `ack` carries no
// delta, so the client must hold exactly what the server committed: it rebases its
// pending op with the very same call and applies the other side of the pair locally:
//
//   P' = R.transform(P, true)     what the server commits for P
//   R' = P.transform(R, false)    R rebased over our unacknowledged P
//
// quill-delta's law a∘a.transform(b, p) == b∘b.transform(a, !p) with a = R, b = P,
// p = true gives R∘P' == P∘R': both sides converge. The buffer B sits on top of P and is
// rebased over R' the same way. The same algebra as editor/client/state.py.
//
// States also count the local edits they hold (`pendingEdits`, `bufferEdits`) so the
// page can say how many edits are unsent.

import Delta from 'quill-delta';

export const SYNCHRONIZED = Object.freeze({ kind: 'synchronized' });

/** `pending` (numbered `seq`) is sent, or will be once connected, and unacknowledged. */
export function awaitingConfirm(pending, seq, pendingEdits = 1) {
  return Object.freeze({ kind: 'awaiting_confirm', pending, seq, pendingEdits });
}

/** `pending` is unacknowledged; later local edits are composed into `buffer`. */
export function awaitingWithBuffer(pending, seq, buffer, pendingEdits = 1, bufferEdits = 1) {
  return Object.freeze({
    kind: 'awaiting_with_buffer', pending, seq, buffer, pendingEdits, bufferEdits,
  });
}

/** A local edit: sent at once when synchronized, else buffered behind the pending op. */
export function applyClient(state, delta, nextSeq) {
  switch (state.kind) {
    case 'synchronized':
      return { state: awaitingConfirm(delta, nextSeq), send: { seq: nextSeq, delta } };
    case 'awaiting_confirm':
      return { state: awaitingWithBuffer(state.pending, state.seq, delta, state.pendingEdits, 1),
               send: null };
    default:
      return {
        state: awaitingWithBuffer(state.pending, state.seq, state.buffer.compose(delta),
                                  state.pendingEdits, state.bufferEdits + 1),
        send: null,
      };
  }
}

/** A committed remote op: the next state and the remote op rebased onto local content. */
export function applyServer(state, remote) {
  if (state.kind === 'synchronized') return { state, local: remote };
  const pending = remote.transform(state.pending, true);
  const remoteOverPending = state.pending.transform(remote, false);
  if (state.kind === 'awaiting_confirm') {
    return { state: awaitingConfirm(pending, state.seq, state.pendingEdits),
             local: remoteOverPending };
  }
  const buffer = remoteOverPending.transform(state.buffer, true);
  const local = state.buffer.transform(remoteOverPending, false);
  return {
    state: awaitingWithBuffer(pending, state.seq, buffer, state.pendingEdits, state.bufferEdits),
    local,
  };
}

/** Our pending op was committed: the buffer (if any) becomes the next pending op. */
export function serverAck(state) {
  if (state.kind === 'awaiting_confirm') return { state: SYNCHRONIZED, send: null };
  if (state.kind === 'awaiting_with_buffer') {
    const seq = state.seq + 1;
    return { state: awaitingConfirm(state.buffer, seq, state.bufferEdits),
             send: { seq, delta: state.buffer } };
  }
  throw new Error('ack while synchronized');
}

/** Every local edit the server has not acknowledged, as one delta (maybe empty). */
export function unacknowledged(state) {
  if (state.kind === 'awaiting_with_buffer') return state.pending.compose(state.buffer);
  if (state.kind === 'awaiting_confirm') return state.pending;
  return new Delta();
}

/** How many local edits the server has not acknowledged. */
export function unsentEdits(state) {
  if (state.kind === 'awaiting_with_buffer') return state.pendingEdits + state.bufferEdits;
  if (state.kind === 'awaiting_confirm') return state.pendingEdits;
  return 0;
}

function opLength(op) {
  if (typeof op.delete === 'number') return op.delete;
  if (typeof op.retain === 'number') return op.retain;
  if (typeof op.insert === 'string') return op.insert.length; // UTF-16 units, as the protocol
  return 1;
}

/** How long a document must be for `delta` to apply (its retains and deletes). */
export function baseLength(delta) {
  let length = 0;
  for (const op of delta.ops) {
    if (op.insert === undefined) length += opLength(op);
  }
  return length;
}

/** A position in the document after `delta` -> the position before it.
 *  A position inside text that `delta` inserted maps to the insertion point. */
export function unmapPosition(delta, index) {
  let before = 0;
  let after = 0;
  for (const op of delta.ops) {
    const length = opLength(op);
    if (op.delete !== undefined) {
      before += length;
      continue;
    }
    if (index < after + length) return op.insert !== undefined ? before : before + index - after;
    after += length;
    if (op.retain !== undefined) before += length;
  }
  return before + index - after;
}

/** A position at the server's version -> the same place in the local content. */
export function toLocal(state, index) {
  if (state.kind === 'synchronized') return index;
  let local = state.pending.transformPosition(index);
  if (state.kind === 'awaiting_with_buffer') local = state.buffer.transformPosition(local);
  return local;
}

/** A position in the local content -> the same place at the server's version. */
export function toServer(state, index) {
  let server = index;
  if (state.kind === 'awaiting_with_buffer') server = unmapPosition(state.buffer, server);
  if (state.kind !== 'synchronized') server = unmapPosition(state.pending, server);
  return server;
}

/** A selection moved through `delta` (an insert at an edge pushes it right). */
export function rebaseSelection(delta, index, length) {
  if (index === null || index === undefined) return { index: null, length };
  const start = delta.transformPosition(index);
  const end = length ? delta.transformPosition(index + length) : start;
  return { index: start, length: Math.max(0, end - start) };
}

/** True when `delta` changes nothing (only plain retains). */
export function isNoop(delta) {
  return delta.ops.every((op) => op.retain !== undefined && !op.attributes);
}
