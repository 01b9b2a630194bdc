import { signal } from "@preact/signals";

// Hash routes keep the console a static bundle: /console serves one index.html.
export const route = signal(location.hash.slice(1) || "/inbox");
window.addEventListener("hashchange", () => (route.value = location.hash.slice(1) || "/inbox"));

export function go(path: string): void {
  location.hash = path;
}
