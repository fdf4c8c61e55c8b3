// The users stream: users.list, page by page.

import type { UserDocument } from '../../documents.js';
import { pageSizes, type SourceContext } from './context.js';
import { toUserDocument } from './to-documents.js';

export async function* listUsers(context: SourceContext): AsyncGenerator<UserDocument[]> {
  for await (const members of context.client.paginate('users.list', { limit: pageSizes.list }, 'members', { where: '' })) {
    yield members.map((member) => context.keep(toUserDocument(member), member));
  }
}
