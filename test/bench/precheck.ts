/**
 * Before any timing, the gateway must do the job being timed: a valid token is forwarded with the
 * upstream credential and without the caller's Authorization; no token and a bad signature are
 * refused with 401; the anonymous route forwards. A gateway that fails here is not measured.
 */
export interface PrecheckTargets {
  readonly gateway: string;
  readonly upstream: string;
  readonly token: string;
  readonly invalid: string;
}

async function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.text() };
}

/** Throws naming the first check that failed. */
export async function checkBeforeTiming(t: PrecheckTargets): Promise<void> {
  const problems: string[] = [];
  const ok = await get(`${t.gateway}/api/v1/echo`, t.token);
  if (ok.status !== 200) problems.push(`valid token: status ${ok.status}, wanted 200`);
  else if (!ok.body.includes('"credential":"match"'))
    problems.push('valid token: the upstream did not get the credential');
  else if (!ok.body.includes('"authorization":"absent"'))
    problems.push("valid token: the caller's Authorization reached the upstream");
  const none = await get(`${t.gateway}/api/v1/echo`);
  if (none.status !== 401) problems.push(`no token: status ${none.status}, wanted 401`);
  const bad = await get(`${t.gateway}/api/v1/echo`, t.invalid);
  if (bad.status !== 401) problems.push(`bad signature: status ${bad.status}, wanted 401`);
  const anon = await get(`${t.gateway}/anon/v1/echo`);
  if (anon.status !== 200) problems.push(`anonymous route: status ${anon.status}, wanted 200`);
  const direct = await get(`${t.upstream}/api/v1/echo`);
  if (direct.status !== 200) problems.push(`upstream direct: status ${direct.status}, wanted 200`);
  if (problems.length > 0) throw new Error(`pre-check failed, nothing timed:\n  ${problems.join('\n  ')}`);
}
