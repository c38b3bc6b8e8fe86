// The FIWARE IoT Agent library (npm iotagent-node-lib, unmodified, memory registry) with Toshi's /v2 as
// its context broker: a device provisioned through the agent's API, two measures sent through the
// library's update (what every agent's southbound calls), the entity read back from Toshi, the
// agent's command registration in Toshi, and a command written to Toshi reaching the agent.
// Usage: node iotagent_session.js <toshi port> <agent port>; prints OK, else what failed (exit 1).
const http = require('http');
const iota = require('iotagent-node-lib');

const [CB, NB] = process.argv.slice(2, 4).map((p) => parseInt(p, 10));
const HEADERS = {'fiware-service': 'smart', 'fiware-servicepath': '/'};
const ENTITY = 'urn:ngsi-ld:Sensor:01';
const config = {
    logLevel: 'FATAL', contextBroker: {host: '127.0.0.1', port: CB, ngsiVersion: 'v2'},
    server: {port: NB, host: '127.0.0.1'}, deviceRegistry: {type: 'memory'}, types: {},
    service: 'smart', subservice: '/', providerUrl: `http://127.0.0.1:${NB}`, defaultType: 'Thing',
    defaultResource: '/iot/d',
};
const failures = [];

function request(port, method, path, body) {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const headers = {...HEADERS};
        if (data) Object.assign(headers, {'content-type': 'application/json', 'content-length': Buffer.byteLength(data)});
        const req = http.request({host: '127.0.0.1', port, method, path, headers}, (res) => {
            let text = '';
            res.on('data', (chunk) => { text += chunk; });
            res.on('end', () => resolve({status: res.statusCode, body: text}));
        });
        req.on('error', reject);
        if (data) req.write(data);
        req.end();
    });
}

function check(name, ok, detail) {
    if (!ok) failures.push(`${name}: ${detail}`);
}

const call = (fn, ...args) => new Promise((resolve) => fn(...args, (error, result) => resolve({error, result})));

(async () => {
    const activated = await call(iota.activate, config);
    if (activated.error) throw activated.error;
    let commanded = null;
    iota.setCommandHandler((id, type, service, subservice, attributes, callback) => {
        commanded = {id, type, service, subservice, attributes};
        callback(null, {id, type, attributes});
    });
    const provisioned = await request(NB, 'POST', '/iot/devices', {devices: [{
        device_id: 'sensor01', entity_name: ENTITY, entity_type: 'Sensor',
        attributes: [{object_id: 't', name: 'temperature', type: 'Number'}],
        commands: [{name: 'ping', type: 'command'}]}]});
    check('provisioning', provisioned.status === 201, `${provisioned.status} ${provisioned.body}`);
    const device = (await call(iota.getDeviceByName, ENTITY, 'smart', '/')).result;
    if (!device) throw new Error(`no device provisioned: ${failures.join('; ')}`);
    for (const value of [21, 22]) {
        const sent = await call(iota.update, device.name, device.type, '',
                                [{name: 'temperature', type: 'Number', value}], device);
        check(`measure ${value}`, !sent.error, sent.error && (sent.error.message || JSON.stringify(sent.error)));
    }
    const entity = await request(CB, 'GET', `/v2/entities/${ENTITY}?options=keyValues`);
    check('entity', entity.status === 200 && JSON.parse(entity.body).temperature === 22, `${entity.status} ${entity.body}`);
    const registrations = await request(CB, 'GET', '/v2/registrations');
    const provider = registrations.status === 200 && JSON.parse(registrations.body).map((r) => r.provider.http.url);
    check('registration', JSON.stringify(provider) === JSON.stringify([`http://127.0.0.1:${NB}`]),
          `${registrations.status} ${registrations.body}`);
    const command = await request(CB, 'PATCH', `/v2/entities/${ENTITY}/attrs?type=Sensor`,
                                  {ping: {type: 'command', value: 'hi'}});
    check('command answer', command.status === 204, `${command.status} ${command.body}`);
    const expected = {id: ENTITY, type: 'Sensor', service: 'smart', subservice: '/',
                      attributes: [{type: 'command', value: 'hi', name: 'ping'}]};
    check('command reached the agent', JSON.stringify(commanded) === JSON.stringify(expected), JSON.stringify(commanded));
    await call(iota.deactivate);
    console.log(failures.length ? failures.join('\n') : 'OK');
    process.exit(failures.length ? 1 : 0);
})().catch((error) => {
    console.log(`ERROR ${error && (error.stack || error)}`);
    process.exit(1);
});
