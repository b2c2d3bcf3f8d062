import { ChangePassword } from '../../../src/auth/ChangePassword.tsx';

export const metadata = { title: 'Change password · defectflow' };

export default function SettingsPasswordPage() {
  return <ChangePassword />;
}
