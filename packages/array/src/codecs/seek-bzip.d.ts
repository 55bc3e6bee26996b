// Types for the part of seek-bzip (pure-JS bzip2 decoder, CommonJS, untyped) that bz2-codec uses.
declare module "seek-bzip" {
  interface OutputStream {
    writeByte(byte: number): void;
  }
  const Bunzip: {
    decode(input: Uint8Array, output: OutputStream, multistream?: boolean): OutputStream;
  };
  export default Bunzip;
}
