import '../../lib/polyfills.js';
