// Compiled without `lib: ["dom"]` (tsconfig.nodom.json): the declarations stand on their own.
import connect, { type ConnectOptions } from 'switchboard-client';

const options: ConnectOptions = { transports: ['polling'], batching: { maxMessages: 8 } };
export const client = connect('ws://127.0.0.1:8080/ws', options);
export const count: number = client.reconnectCount;
