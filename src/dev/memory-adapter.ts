/**
 * A minimal in-memory storage adapter for the local IdP. oidc-provider's own quick-start adapter
 * works too but prints a production warning on every start; the client-credentials grant with JWT
 * access tokens stores almost nothing, so a plain Map (one per model name) is enough.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';

/** Returns an adapter factory whose stores live as long as the returned function. */
export function createMemoryAdapter(): (name: string) => Adapter {
  const stores = new Map<string, Map<string, AdapterPayload>>();
  return function memoryAdapter(name: string): Adapter {
    let store = stores.get(name);
    if (store === undefined) {
      store = new Map();
      stores.set(name, store);
    }
    const items = store;
    return {
      upsert(id, payload) {
        items.set(id, payload);
        return Promise.resolve();
      },
      find(id) {
        return Promise.resolve(items.get(id));
      },
      findByUserCode(userCode) {
        return Promise.resolve([...items.values()].find((item) => item['userCode'] === userCode));
      },
      findByUid(uid) {
        return Promise.resolve([...items.values()].find((item) => item['uid'] === uid));
      },
      consume(id) {
        const item = items.get(id);
        if (item !== undefined) items.set(id, { ...item, consumed: Math.floor(Date.now() / 1000) });
        return Promise.resolve();
      },
      destroy(id) {
        items.delete(id);
        return Promise.resolve();
      },
      revokeByGrantId(grantId) {
        for (const [id, item] of items) if (item['grantId'] === grantId) items.delete(id);
        return Promise.resolve();
      },
    };
  };
}
