/**
 * Every `send` frame of this edge's sockets reaches chat-svc through one
 * ChatService.SendMessages call per batch instead of one SendMessage call per
 * frame: a unary call costs both processes far more than the message it
 * carries. Batches form as the shared batcher forms them (what arrived in
 * the same event-loop turn, larger while earlier batches are in flight), so
 * a quiet edge adds no delay and a busy one makes fewer, larger calls.
 *
 * Each item carries its sender's own access token: chat-svc authenticates
 * and answers every item as it would a SendMessage call of its own, and a
 * failed item rejects with the same ConnectError that call would have.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Message, SendMessageRequestSchema } from "@parley/proto/chat/v1/chat_pb.js";
import { createBatcher } from "@parley/shared/batcher.js";
import { fromItemStatus, internal } from "@parley/shared/errors.js";
import type { ChatClient } from "../clients.js";
import { bearer } from "../forwarding.js";
import type { ServiceTokenSource } from "../service-token.js";

export type SendInit = MessageInitShape<typeof SendMessageRequestSchema>;

export interface BatchedSends {
  /** The stored message, or the error its own SendMessage call would have raised. */
  send(accessToken: string, request: SendInit): Promise<Message>;
  /** Sends what is queued and waits for every call in flight. */
  close(): Promise<void>;
}

interface Item {
  accessToken: string;
  request: SendInit;
}

/** SendMessagesRequest.items allows 500; smaller calls keep one batch's wait short. */
const MAX_BATCH = 256;
/** Calls in flight at once; later sends gather into the next call meanwhile. */
const MAX_IN_FLIGHT = 4;

export function createBatchedSends(opts: { chat: ChatClient; serviceToken: ServiceTokenSource }): BatchedSends {
  const batcher = createBatcher<Item, Message>({
    maxBatch: MAX_BATCH,
    maxInFlight: MAX_IN_FLIGHT,
    lingerMs: 0,
    async write(items) {
      const token = await opts.serviceToken.get();
      const { results } = await opts.chat.sendMessages({ items }, { headers: { authorization: bearer(token) } });
      return items.map((_, i): PromiseSettledResult<Message> => {
        const outcome = results[i]?.outcome;
        if (outcome?.case === "message") return { status: "fulfilled", value: outcome.value };
        if (outcome?.case === "error") return { status: "rejected", reason: fromItemStatus(outcome.value) };
        return { status: "rejected", reason: internal() };
      });
    },
  });
  return {
    send: (accessToken, request) => batcher.submit({ accessToken, request }),
    close: () => batcher.close(),
  };
}
