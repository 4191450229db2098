#!/usr/bin/env node
// The `genpi` command. It runs the TypeScript sources through tsx, so it needs no build step after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
