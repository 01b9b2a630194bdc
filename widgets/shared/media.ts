// What a call's media connection is to the console and the widget: the one shape both
// seams (console phone/media.ts, widget call/media.ts) hand out, whether it is the real
// LiveKit room (shared/livekit.ts) or a browser test's `window.__kefuFakeMedia`.

export interface CallMedia {
  /** Stop or resume sending our microphone to the room. */
  setMuted(muted: boolean): Promise<void>;
  /** Leave the room (hang-up, transfer away, or the server ended the call). */
  disconnect(): Promise<void>;
  /** Called once if the room drops us (network, or the server closed the room). */
  onEnded(listener: () => void): void;
  /** Someone else joined (true) or left (false) the room; `identity` as kefu minted it. */
  onPeer(listener: (identity: string, joined: boolean) => void): void;
}

export interface MediaConnector {
  /** `microphone` null: listen only (a supervisor's token cannot publish anyway). */
  connectRoom(url: string, token: string, microphone: MediaStreamTrack | null): Promise<CallMedia>;
}

declare global {
  interface Window {
    /** Browser tests replace the room connection with this (and nothing else). */
    __kefuFakeMedia?: MediaConnector;
  }
}
