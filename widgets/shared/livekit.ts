// The real room connection, loaded lazily by both front-ends' media seams: join the
// LiveKit room with the token kefu minted, publish our microphone track (asked for by the
// caller of this module on a click), and play every remote audio track (the caller, an
// agent, a consulted colleague, hold music) through hidden <audio> elements.
import { Room, RoomEvent, Track } from "livekit-client";
import type { CallMedia } from "./media";

export async function connectRoom(url: string, token: string, microphone: MediaStreamTrack | null): Promise<CallMedia> {
  const room = new Room({ adaptiveStream: false, dynacast: false });
  const players: HTMLMediaElement[] = [];
  let ended: (() => void) | null = null;
  let peer: ((identity: string, joined: boolean) => void) | null = null;
  room.on(RoomEvent.TrackSubscribed, (track) => {
    if (track.kind !== Track.Kind.Audio) return;
    const el = track.attach();
    el.hidden = true;
    document.body.append(el);
    players.push(el);
  });
  room.on(RoomEvent.ParticipantConnected, (p) => peer?.(p.identity, true));
  room.on(RoomEvent.ParticipantDisconnected, (p) => peer?.(p.identity, false));
  room.once(RoomEvent.Disconnected, () => {
    for (const el of players.splice(0)) el.remove();
    ended?.();
  });
  await room.connect(url, token, { autoSubscribe: true });
  const published = microphone
    ? await room.localParticipant.publishTrack(microphone, { source: Track.Source.Microphone })
    : null;
  return {
    async setMuted(muted) {
      if (!published) return;
      if (muted) await published.mute();
      else await published.unmute();
    },
    async disconnect() {
      await room.disconnect();
    },
    onEnded(listener) {
      ended = listener;
    },
    onPeer(listener) {
      peer = listener;
      // Whoever was in the room before we joined (an agent already waiting, the IVR).
      for (const p of room.remoteParticipants.values()) listener(p.identity, true);
    },
  };
}
