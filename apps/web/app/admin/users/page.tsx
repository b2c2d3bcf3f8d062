import { UsersPage } from '../../../src/auth/UsersPage.tsx';

export const metadata = { title: 'Users · defectflow' };

export default function AdminUsersPage() {
  return <UsersPage />;
}
