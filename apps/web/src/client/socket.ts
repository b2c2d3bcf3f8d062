'use client';
/** One socket.io connection per browser tab, shared by every component. */
import { useEffect, useState } from 'react';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from './socket-events.ts';

export type AppSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

let socket: AppSocket | null = null;

/** The tab's socket, created on first use (browser only). */
export function getSocket(): AppSocket {
  if (typeof window === 'undefined') throw new Error('getSocket() is browser-only; use useSocket() in components');
  // Same origin, default path /socket.io; websocket first, polling as a fallback behind strict proxies.
  socket ??= io({ transports: ['websocket', 'polling'] });
  return socket;
}

/** The shared socket; null during server rendering and the first client render. */
export function useSocket(): AppSocket | null {
  const [s, setS] = useState<AppSocket | null>(null);
  useEffect(() => setS(getSocket()), []);
  return s;
}

/** Whether the shared socket is connected to the web server right now. */
export function useSocketConnected(): boolean {
  const s = useSocket();
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    if (!s) return;
    const on = () => setConnected(true);
    const off = () => setConnected(false);
    setConnected(s.connected);
    s.on('connect', on);
    s.on('disconnect', off);
    return () => {
      s.off('connect', on);
      s.off('disconnect', off);
    };
  }, [s]);
  return connected;
}
