/** A room's name and topic, as creating and editing a room ask for them. */
export function RoomNameFields({
  name,
  topic,
  topicLabel = "Topic",
  onName,
  onTopic,
}: {
  name: string;
  topic: string;
  topicLabel?: string;
  onName: (name: string) => void;
  onTopic: (topic: string) => void;
}) {
  return (
    <>
      <label className="field">
        <span>Name</span>
        <input required maxLength={80} value={name} onChange={(e) => onName(e.target.value)} />
      </label>
      <label className="field">
        <span>{topicLabel}</span>
        <input maxLength={250} value={topic} onChange={(e) => onTopic(e.target.value)} />
      </label>
    </>
  );
}
