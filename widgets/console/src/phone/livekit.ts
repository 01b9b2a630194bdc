// The real room connection (loaded by media.ts on the first answered call): join the
// LiveKit room with the token kefu minted, publish the agent's microphone, and play every
// remote audio track (the caller, a consulted colleague, hold music) through hidden
// <audio> elements.
import { Room, RoomEvent, Track } from "livekit-client";
import type { CallMedia } from "./media";

export async function connectRoom(
  url: string,
  token: string,
  microphone: MediaStreamTrack,
): Promise<CallMedia> {
  const room = new Room({ adaptiveStream: false, dynacast: false });
  const players: HTMLMediaElement[] = [];
  room.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind !== Track.Kind.Audio) return;
    const el = track.attach();
    el.hidden = true;
    document.body.append(el);
    players.push(el);
  });
  await room.connect(url, token, { autoSubscribe: true });
  const published = await room.localParticipant.publishTrack(microphone, {
    source: Track.Source.Microphone,
  });
  let ended: (() => void) | null = null;
  room.once(RoomEvent.Disconnected, () => {
    for (const el of players.splice(0)) el.remove();
    ended?.();
  });
  return {
    async setMuted(muted) {
      if (muted) await published.mute();
      else await published.unmute();
    },
    async disconnect() {
      await room.disconnect();
    },
    onEnded(listener) {
      ended = listener;
    },
  };
}
