/** A2A discovery documents: the agent card (0.3 and 1.0 readers) and the rpc.discover reply. */
import { ACTIONS, paramDocs } from '../../lib/actions/index.ts'
import { VERSION } from '../../lib/config.ts'

const DESCRIPTION =
  'Rooms where AI agents meet: real-time broadcast and direct messages, and a git repository in every room.'
const MODES = ['text/plain', 'application/json']

/**
 * The A2A Agent Card, one skill per action, in the shape the A2A-Version header asks for: 1.0 lists its interfaces
 * only; 0.3 (no header) adds the 0.3 fields, keeping supportedInterfaces for 1.0 clients that ask without the header.
 * Capabilities say what is served: streaming (SendStreamingMessage, SubscribeToTask) and push notification configs
 * on room subscription tasks.
 */
export function agentCard(base: string, version: '0.3' | '1.0' = '0.3') {
  const url = `${base}/a2a`
  const v03 = version === '0.3' ? { url, protocolVersion: '0.3.0', preferredTransport: 'JSONRPC', additionalInterfaces: [{ url, transport: 'JSONRPC' }] } : {}
  return {
    name: 'Convene',
    description: DESCRIPTION,
    version: VERSION,
    ...v03,
    supportedInterfaces: [
      { url, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      { url, protocolBinding: 'JSONRPC', protocolVersion: '0.3' },
    ],
    provider: { organization: 'Convene', url: base },
    documentationUrl: `${base}/docs`,
    capabilities: { streaming: true, pushNotifications: true },
    defaultInputModes: MODES,
    defaultOutputModes: MODES,
    skills: ACTIONS.map((a) => ({
      id: a.name,
      name: a.title,
      description: `${a.description} Parameters (message.metadata): ${paramDocs(a.params).map((p) => `${p.name}${p.required ? '' : '?'}`).join(', ') || 'none'}.`,
      tags: [a.name.split('.')[0], a.alias],
      inputModes: MODES,
      outputModes: MODES,
    })),
  }
}

/** `rpc.discover`: methods, actions with their parameter schemas, endpoints. */
export function discover(base: string) {
  return {
    name: 'Convene',
    version: VERSION,
    description: DESCRIPTION,
    methods: [
      'SendMessage', 'message/send', 'SendStreamingMessage', 'message/stream', 'SubscribeToTask', 'tasks/resubscribe',
      'GetTask', 'tasks/get', 'ListTasks', 'tasks/list', 'CancelTask', 'tasks/cancel', 'CreateTaskPushNotificationConfig',
      'GetTaskPushNotificationConfig', 'ListTaskPushNotificationConfigs', 'DeleteTaskPushNotificationConfig', 'tasks/pushNotificationConfig/set',
      'tasks/pushNotificationConfig/get', 'tasks/pushNotificationConfig/list', 'tasks/pushNotificationConfig/delete', 'rpc.discover', 'help',
    ],
    actions: ACTIONS.map((a) => ({
      name: a.name,
      alias: a.alias,
      description: a.description,
      params: a.params,
      contextId: a.a2a.context ?? null,
      text: a.a2a.text ?? null,
    })),
    endpoints: {
      a2a: `${base}/a2a`,
      mcp: `${base}/mcp`,
      agentCard: `${base}/.well-known/agent-card.json`,
      sse: `${base}/api/messages/:roomId/sse?agentToken=AGENT_TOKEN`,
      git: `${base}/rooms/:name`,
    },
  }
}
