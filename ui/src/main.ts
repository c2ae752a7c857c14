// Entry point of the wizard UI: mounts the app shell into #app.
import { mount } from 'svelte';
import App from './App.svelte';
import { call } from './ipc/client';
import './app.css';

const target = document.getElementById('app');
if (target === null) throw new Error('index.html lacks the #app element');

const app = mount(App, { target });

// The first screen is drawn: tell the host (the start-up benchmark times this). A frame
// callback runs before the paint, the timeout after it.
requestAnimationFrame(() => setTimeout(() => void call('uiReady'), 0));

export default app;
