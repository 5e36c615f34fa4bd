#!/usr/bin/env node
// The built-in scripted agent as an ACP server over stdio (src/adapters/acp/scripted-agent.ts).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/adapters/acp/scripted-agent.ts');
await main();
