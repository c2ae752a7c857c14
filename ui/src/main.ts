// Entry point of the wizard UI: mounts the app shell into #app.
import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';

const target = document.getElementById('app');
if (target === null) throw new Error('index.html lacks the #app element');

export default mount(App, { target });
