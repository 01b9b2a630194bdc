// THE seam between the widget's call and the media server. Browser tests set
// `window.__kefuFakeMedia` (widgets/shared/media.ts) before widget.js runs; otherwise the
// LiveKit connection is a separate ES module (widget-call.js, livekit-client inside) that
// is imported only when the visitor starts a call, so the chat bundle stays small.
import type { CallMedia } from "../../../shared/media";

export type { CallMedia };

export async function connectRoom(
  bundleBase: string,
  url: string,
  token: string,
  microphone: MediaStreamTrack,
): Promise<CallMedia> {
  const fake = window.__kefuFakeMedia;
  if (fake) return fake.connectRoom(url, token, microphone);
  // A URL Vite does not bundle: the module is built separately (vite.call.config.ts).
  const real = (await import(/* @vite-ignore */ `${bundleBase}/widget-call.js`)) as {
    connectRoom: (url: string, token: string, microphone: MediaStreamTrack) => Promise<CallMedia>;
  };
  return real.connectRoom(url, token, microphone);
}
