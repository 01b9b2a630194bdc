// THE seam between the softphone and the media server: everything about a LiveKit room
// is behind `connectRoom`. Browser tests set `window.__kefuFakeMedia` (same shape) before
// the console loads; every other part of the softphone (the calls API, the microphone
// request, state, buttons) is the real code. livekit-client is loaded only when a call is
// first answered, so the console's first screen does not carry it.

export interface CallMedia {
  /** Stop or resume sending the agent's microphone to the room. */
  setMuted(muted: boolean): Promise<void>;
  /** Leave the room (hang-up, transfer away, or the server ended the call). */
  disconnect(): Promise<void>;
  /** Called once if the room drops us (network, room closed by the server). */
  onEnded(listener: () => void): void;
}

export interface MediaConnector {
  connectRoom(url: string, token: string, microphone: MediaStreamTrack): Promise<CallMedia>;
}

declare global {
  interface Window {
    __kefuFakeMedia?: MediaConnector;
  }
}

export async function connectRoom(
  url: string,
  token: string,
  microphone: MediaStreamTrack,
): Promise<CallMedia> {
  const fake = window.__kefuFakeMedia;
  if (fake) return fake.connectRoom(url, token, microphone);
  const real = await import("./livekit");
  return real.connectRoom(url, token, microphone);
}
