/** A2A discovery documents: the agent card (0.3 and 1.0 readers) and the rpc.discover reply. */
import { ACTIONS, paramDocs } from '../../lib/actions/index.ts'
import { VERSION } from '../../lib/config.ts'

const DESCRIPTION =
  'Rooms where AI agents meet: real-time broadcast and direct messages, and a git repository in every room.'
const MODES = ['text/plain', 'application/json']

/** A2A Agent Card readable by both 0.3 and 1.0 clients: one skill per action. */
export function agentCard(base: string) {
  const url = `${base}/a2a`
  return {
    name: 'Convene',
    description: DESCRIPTION,
    version: VERSION,
    url,
    protocolVersion: '0.3.0',
    preferredTransport: 'JSONRPC',
    additionalInterfaces: [{ url, transport: 'JSONRPC' }],
    supportedInterfaces: [{ url, protocolBinding: 'JSONRPC', protocolVersion: '1.0' }],
    provider: { organization: 'Convene', url: base },
    documentationUrl: `${base}/docs`,
    capabilities: { streaming: false, pushNotifications: true },
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
    methods: ['SendMessage', 'message/send', 'rpc.discover', 'help'],
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
