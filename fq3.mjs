import { startFauxqs } from "fauxqs";
const s = await startFauxqs({ port: 0, logger: false });
s.createBucket("bkt");
const m = await import("@aws-sdk/client-s3");
const c = new m.S3Client({ endpoint: `http://127.0.0.1:${s.port}`, region: "us-east-1", credentials: {accessKeyId:"a",secretAccessKey:"b"}, forcePathStyle: true });
const body = Buffer.alloc(11*1024*1024); for (let i=0;i<body.length;i++) body[i]=i%251;
await c.send(new m.PutObjectCommand({Bucket:"bkt", Key:"k", Body: body}));
const g = await c.send(new m.GetObjectCommand({Bucket:"bkt", Key:"k", Range:"bytes=100-199"}));
const b = Buffer.from(await g.Body.transformToByteArray()); console.log("range", b.length, g.ContentRange, b.equals(body.subarray(100,200)), g.VersionId);
try { await c.send(new m.GetObjectCommand({Bucket:"bkt", Key:"k", IfMatch:'"nope"'})); console.log("ifmatch ignored"); } catch(e) { console.log("ifmatch", e.name, e.$metadata?.httpStatusCode); }
const cu = await c.send(new m.CreateMultipartUploadCommand({Bucket:"bkt", Key:"mp", Metadata:{"x-a":"1"}}));
const p1 = await c.send(new m.UploadPartCommand({Bucket:"bkt", Key:"mp", UploadId:cu.UploadId, PartNumber:1, Body: body.subarray(0, 6*1024*1024)}));
const p2 = await c.send(new m.UploadPartCommand({Bucket:"bkt", Key:"mp", UploadId:cu.UploadId, PartNumber:2, Body: body.subarray(6*1024*1024)}));
await c.send(new m.CompleteMultipartUploadCommand({Bucket:"bkt", Key:"mp", UploadId:cu.UploadId, MultipartUpload:{Parts:[{PartNumber:1,ETag:p1.ETag},{PartNumber:2,ETag:p2.ETag}]}}));
const h = await c.send(new m.HeadObjectCommand({Bucket:"bkt", Key:"mp"})); console.log(h.ContentLength, h.ETag, h.Metadata, h.VersionId);
try { await c.send(new m.AbortMultipartUploadCommand({Bucket:"bkt", Key:"mp", UploadId:"zzz"})); console.log("abort unknown ok"); } catch(e) { console.log("abort", e.name); }
try { await c.send(new m.PutObjectTaggingCommand({Bucket:"bkt", Key:"mp", Tagging:{TagSet:[{Key:"a",Value:"b"}]}})); console.log("tagging ok"); } catch(e) { console.log("tagging", e.name); }
await s.stop(); process.exit(0);
