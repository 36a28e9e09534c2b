// WeCom's own long-connection SDK against the gateway stand-in. The Go test starts the
// gateway, runs this script, delivers one text callback and checks what arrives; this
// script prints one line per step it saw, so the test can tell where it stopped.
//   WS_URL, BOT_ID, BOT_SECRET: where and as whom to subscribe.
import { WSClient } from '@wecom/aibot-node-sdk';

const quiet = { debug() {}, info() {}, warn() {}, error: (...a) => console.error('sdk:', ...a) };
const client = new WSClient({
  botId: process.env.BOT_ID,
  secret: process.env.BOT_SECRET,
  wsUrl: process.env.WS_URL,
  heartbeatInterval: 500,
  reconnectInterval: 200,
  maxReconnectAttempts: 3,
  logger: quiet,
});

const say = (line) => console.log(line);
client.on('authenticated', () => say('AUTHENTICATED'));
client.on('disconnected', (reason) => say('DISCONNECTED ' + reason));
client.on('message.text', async (frame) => {
  const text = frame.body.text.content;
  say('CALLBACK ' + frame.headers.req_id + ' ' + text);
  try {
    await client.replyStream(frame, 'sdk-stream-1', '正在处理', false);
    await client.replyStream(frame, 'sdk-stream-1', '收到：' + text, true);
    say('REPLIED');
    await client.sendMessage(frame.body.chatid, { msgtype: 'markdown', markdown: { content: '**SDK 主动推送**' } });
    say('PUSHED');
  } catch (err) {
    say('FAILED ' + JSON.stringify(err && (err.errmsg || err.message || err)));
  }
});
client.connect();
setTimeout(() => { say('TIMEOUT'); process.exit(2); }, Number(process.env.CHECK_TIMEOUT_MS || 20000));
process.on('SIGTERM', () => { client.disconnect(); process.exit(0); });
