"""The one thing the voice browser tests replace: the LiveKit room connection behind the
console's phone/media.ts and the widget's call/media.ts (`window.__kefuFakeMedia`, the
shape of widgets/shared/media.ts). Everything else in the page is the real code against
the real server. The fake records what the page asked of the room in `window.__fakeRooms`
(url, token, the microphone track it was given, mute calls, disconnects) and lets a test
play the room's side: `__fakeRooms[i].peer(identity, joined)` and `__fakeRooms[i].ended()`.
`window.__kefuMicRequests` counts getUserMedia calls, so a test can say the microphone was
asked for only on a click."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page

FAKE_MEDIA = """
(() => {
  const rooms = [];
  window.__fakeRooms = rooms;
  window.__kefuMicRequests = 0;
  const media = navigator.mediaDevices;
  if (media && media.getUserMedia) {
    const real = media.getUserMedia.bind(media);
    media.getUserMedia = (constraints) => {
      window.__kefuMicRequests += 1;
      return real(constraints);
    };
  }
  window.__kefuFakeMedia = {
    async connectRoom(url, token, microphone) {
      const room = {
        url, token, mic: microphone, micKind: microphone ? microphone.kind : null,
        muted: [], disconnected: false,
        peer: () => undefined, ended: () => undefined,
      };
      rooms.push(room);
      return {
        async setMuted(muted) { room.muted.push(muted); },
        async disconnect() { room.disconnected = true; },
        onEnded(listener) { room.ended = listener; },
        onPeer(listener) { room.peer = listener; },
      };
    },
  };
})();
"""

# Chromium answers getUserMedia with a fake device and no permission prompt.
MEDIA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


async def rooms(page: Page) -> list[dict[str, Any]]:
    """What the page asked of its rooms so far (JSON-able parts only)."""
    found = await page.evaluate(
        """() => window.__fakeRooms.map((r) => ({
            url: r.url, token: r.token, micKind: r.micKind,
            micEnabled: r.mic ? r.mic.enabled : null, micLive: r.mic ? r.mic.readyState : null,
            muted: r.muted, disconnected: r.disconnected }))"""
    )
    return list(found)


async def mic_requests(page: Page) -> int:
    return int(await page.evaluate("() => window.__kefuMicRequests"))
