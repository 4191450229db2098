// Page entry: mounts the Svelte app and, in production builds, registers the service worker for offline use.
import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { registerShellWorker } from './pwa/register';

mount(App, { target: document.getElementById('app')! });
if (import.meta.env.PROD) registerShellWorker();
