// The "WebSocket Test" of the old backend's README (seed 000), as its users run it. Changed only to
// pass a token (now required) and to take the server's address from the environment (the tests'
// server listens on a free port); everything else is the seed's text.
const io = require('socket.io-client');
const socket = io(process.env.SWITCHBOARD_URL || 'http://localhost:5001', {
  auth: { user_id: 'test_user', token: process.env.SWITCHBOARD_TOKEN }
});

socket.on('connected', (data) => {
  console.log('Connected:', data);
});

socket.on('initial_state', (data) => {
  console.log('Initial state:', data);
});

socket.emit('subscribe', { stream: 'metrics' });
