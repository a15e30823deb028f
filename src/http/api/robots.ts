import type { RobotRecord } from '../../metadata/accounts.js';
import { ApiError } from './errors.js';
import { parseName, requireNamespace, requireNamespaceAdmin, requireUser } from './guard.js';
import { audit, created, Fields, iso, noContent, ok, readJson, type ApiRequest, type ApiResponse } from './request.js';

/**
 * Robot accounts of a namespace (a user's or an organisation's), named `namespace+short`. The token is shown
 * when the robot is made and when it is regenerated, never again; the store keeps only its hash.
 */

export function robotJson(rb: RobotRecord) {
  return {
    name: rb.name,
    shortName: rb.name.slice(rb.namespace.length + 1),
    namespace: rb.namespace,
    description: rb.description ?? '',
    ...(rb.expiresAt ? { expiresAt: iso(rb.expiresAt) } : {}),
    createdAt: iso(rb.createdAt),
  };
}

async function namespaceFor(r: ApiRequest): Promise<string> {
  requireUser(r);
  const ns = await requireNamespace(r, r.params.namespace!);
  await requireNamespaceAdmin(r, ns.name);
  return ns.name;
}

async function robotOf(r: ApiRequest, ns: string): Promise<RobotRecord> {
  const name = `${ns}+${r.params.robot!}`;
  const robot = await r.auth.accounts.getRobot(name);
  if (!robot) throw new ApiError('NOT_FOUND', `robot ${name} does not exist`);
  return robot;
}

// GET /namespaces/{namespace}/robots
export async function listRobots(r: ApiRequest): Promise<ApiResponse> {
  const ns = await namespaceFor(r);
  return ok({ robots: (await r.auth.accounts.listRobots(ns)).map(robotJson) });
}

// POST /namespaces/{namespace}/robots
export async function createRobot(r: ApiRequest): Promise<ApiResponse> {
  const ns = await namespaceFor(r);
  const f = new Fields(await readJson(r), ['name', 'description', 'expiresAt']);
  const short = parseName(f.string('name', { required: true, max: 255 }), 'robot');
  const description = f.string('description', { max: 4096 });
  const expiresAt = f.futureDate('expiresAt');
  const name = `${ns}+${short}`;
  if (name.length > 255) throw new ApiError('INVALID_REQUEST', `robot name ${name} is longer than 255 characters`);
  const { token, hash } = r.auth.newRobotToken();
  const robot = await r.auth.accounts.createRobot({ name, namespace: ns, tokenHash: hash, description, expiresAt });
  audit(r, { action: 'robot_create', namespace: ns, detail: { robot: name, ...(expiresAt ? { expiresAt: iso(expiresAt) } : {}) } });
  return created({ ...robotJson(robot), token });
}

// GET /namespaces/{namespace}/robots/{robot}
export async function getRobot(r: ApiRequest): Promise<ApiResponse> {
  const ns = await namespaceFor(r);
  return ok(robotJson(await robotOf(r, ns)));
}

// DELETE /namespaces/{namespace}/robots/{robot}
export async function deleteRobot(r: ApiRequest): Promise<ApiResponse> {
  const ns = await namespaceFor(r);
  const robot = await robotOf(r, ns);
  await r.auth.accounts.deleteRobot(robot.name);
  r.auth.forgetCredentials();
  audit(r, { action: 'robot_delete', namespace: ns, detail: { robot: robot.name } });
  return noContent();
}

// POST /namespaces/{namespace}/robots/{robot}/token
export async function regenerateRobotToken(r: ApiRequest): Promise<ApiResponse> {
  const ns = await namespaceFor(r);
  const robot = await robotOf(r, ns);
  const f = new Fields(await readJson(r), ['expiresAt']);
  // A new token starts a new lifetime: without expiresAt it does not expire.
  const expiresAt = f.futureDate('expiresAt');
  const { token, hash } = r.auth.newRobotToken();
  await r.auth.accounts.setRobotToken(robot.name, hash, expiresAt);
  r.auth.forgetCredentials();
  audit(r, { action: 'robot_token_regenerate', namespace: ns, detail: { robot: robot.name, ...(expiresAt ? { expiresAt: iso(expiresAt) } : {}) } });
  return ok({ ...robotJson({ ...robot, expiresAt }), token });
}
