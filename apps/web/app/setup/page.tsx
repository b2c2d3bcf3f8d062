import { Setup } from '../../src/auth/Setup.tsx';

export const metadata = { title: 'Set up · defectflow' };

/** /setup: the first admin, with the setup code from the server's log. */
export default function SetupPage() {
  return <Setup />;
}
