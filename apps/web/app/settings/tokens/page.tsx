import { TokensPage } from '../../../src/auth/TokensPage.tsx';

export const metadata = { title: 'API tokens · defectflow' };

export default function SettingsTokensPage() {
  return <TokensPage />;
}
