/** Builds the web app once per test run when .next is missing or older than its sources. */
export default async function setup(): Promise<void> {
  // @ts-expect-error plain .mjs script without type declarations
  const { ensureWebBuild } = (await import('../scripts/ensure-web-build.mjs')) as {
    ensureWebBuild(o?: { log?: (m: string) => void }): boolean;
  };
  ensureWebBuild({ log: (m: string) => console.log(m) });
}
