// THE seam between the softphone and the media server: everything about a LiveKit room
// is behind `connectRoom`. Browser tests set `window.__kefuFakeMedia` (shared/media.ts)
// before the console loads; every other part of the softphone (the calls API, the
// microphone request, state, buttons) is the real code. livekit-client is a separate
// chunk loaded when a call is first answered, so the console's first screen does not
// carry it.
import type { CallMedia } from "../../../shared/media";

export type { CallMedia };

export async function connectRoom(url: string, token: string, microphone: MediaStreamTrack | null): Promise<CallMedia> {
  const fake = window.__kefuFakeMedia;
  if (fake) return fake.connectRoom(url, token, microphone);
  const real = await import("../../../shared/livekit");
  return real.connectRoom(url, token, microphone);
}
