import { initBackend } from '@defectflow/engine';

export async function initCliBackend(prefer: string): Promise<{ name: string; device: string }> {
  const chosen = await initBackend(prefer === 'auto' ? {} : { prefer: prefer as never });
  for (const reason of chosen.reasons) process.stderr.write(`backend: ${reason}\n`);
  return { name: chosen.name, device: chosen.device };
}
