// The calls API (VOICE.md contract, issue 18): the softphone's state, call actions and the
// calls of a conversation. Types only say what the console reads; the server may send more.
import { get, list, post, put, qs } from "../api";

export type CallStatus =
  | "ivr"
  | "queued"
  | "ringing"
  | "connected"
  | "held"
  | "wrap_up"
  | "ended"
  | "abandoned"
  | "voicemail"
  | "missed";

export interface Call {
  id: string;
  conversation_id: string;
  inbox_id: string;
  contact: { id?: string | null; name?: string | null; phone?: string | null };
  direction: "inbound" | "outbound";
  status: CallStatus;
  room: string;
  ivr_path: string[];
  group_id?: string | null;
  agent_id?: string | null;
  queued_at?: string | null;
  answered_at?: string | null;
  ended_at?: string | null;
  wait_s?: number | null;
  talk_s?: number | null;
  hold_s?: number | null;
  recording_url?: string | null;
  voicemail_url?: string | null;
  duration_s?: number | null;
  hangup_cause?: string | null;
  created_at: string;
  /** The agents this call rings now (one, or the whole group with ring-all). */
  ringing_agent_ids?: string[];
  /** The colleague consulted in an attended transfer. */
  consult_agent_id?: string | null;
}

export type PhoneState = "offline" | "ready" | "not_ready" | "wrap_up" | "busy";

export interface PhoneMe {
  state: PhoneState;
  reason?: string | null;
  /** When the agent entered this state (wrap-up: when the call ended). */
  since?: string | null;
  /** When wrap-up ends, if the server says (the phone row's `wrap_until`). */
  wrap_until?: string | null;
  call?: Call | null;
}

export interface Joined {
  livekit_url: string;
  token: string;
  room: string;
}

export type TransferTarget = { agent_id: string } | { group_id: string } | { number: string };

export const phoneApi = {
  me: () => get<PhoneMe>("/api/v1/phone/me"),
  setState: (state: "offline" | "ready" | "not_ready", reason?: string) =>
    put<PhoneMe>("/api/v1/phone/state", reason ? { state, reason } : { state }),
  call: (id: string) => get<Call>(`/api/v1/calls/${id}`),
  callsOf: (conversationId: string) => list<Call>("/api/v1/calls" + qs({ conversation: conversationId })),
  answer: (id: string) => post<Joined>(`/api/v1/calls/${id}/answer`),
  reject: (id: string) => post<unknown>(`/api/v1/calls/${id}/reject`),
  hangup: (id: string) => post<unknown>(`/api/v1/calls/${id}/hangup`),
  hold: (id: string, on: boolean) => post<unknown>(`/api/v1/calls/${id}/${on ? "hold" : "unhold"}`),
  transfer: (id: string, target: TransferTarget, attended: boolean) =>
    post<unknown>(`/api/v1/calls/${id}/transfer`, { ...target, attended }),
  completeTransfer: (id: string) => post<unknown>(`/api/v1/calls/${id}/transfer/complete`),
  cancelTransfer: (id: string) => post<unknown>(`/api/v1/calls/${id}/transfer/cancel`),
  conference: (id: string, number: string) => post<unknown>(`/api/v1/calls/${id}/conference`, { number }),
  listen: (id: string) => post<Joined>(`/api/v1/calls/${id}/listen`),
  talking: () => list<Call>("/api/v1/calls" + qs({ status: "connected" })),
  dtmf: (id: string, digit: string) => post<unknown>(`/api/v1/calls/${id}/dtmf`, { digit }),
  endWrapUp: (id: string) => post<unknown>(`/api/v1/calls/${id}/wrap-up/end`),
  note: (id: string, body: string) => post<unknown>(`/api/v1/calls/${id}/notes`, { body }),
};
